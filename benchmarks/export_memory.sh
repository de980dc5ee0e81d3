#!/usr/bin/env bash
# Peak memory of streamed CSV exports on the seeded benchmark database (benchmarks/seed_demo.sh):
# a small and the largest round's answers export, to show memory stays flat with size; then
# their time against PostgreSQL's COPY of the same rows, and the ratio (benchmarks/exports.py).
# Usage: benchmarks/export_memory.sh   (DATABASE_URL defaults to maturity_bench)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG=true DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/maturity_bench}"
unset CELERY_BROKER_URL REDIS_URL
database="${DATABASE_URL##*/}"
out=$(mktemp -d)
for key in $(psql -tA -h 127.0.0.1 -U postgres -d "$database" -c "
    SELECT key FROM (SELECT sr.key, count(*) n FROM surveys_answer a
      JOIN surveys_response r ON r.id = a.response_id JOIN surveys_surveyround sr ON sr.id = r.round_id
     WHERE r.status = 'submitted' GROUP BY sr.key) t
    WHERE n = (SELECT min(n) FROM (SELECT count(*) n FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id WHERE r.status = 'submitted' GROUP BY r.round_id) m)
       OR n = (SELECT max(n) FROM (SELECT count(*) n FROM surveys_answer a JOIN surveys_response r ON r.id = a.response_id WHERE r.status = 'submitted' GROUP BY r.round_id) m)
    ORDER BY n"); do
  for format in answers results; do
    file="$out/$key-$format.csv"
    /usr/bin/time -f "%M %e" -o "$out/time" .venv/bin/python manage.py export_round \
      --round "$key" --format "$format" --bom -o "$file"
    read -r kb seconds < "$out/time"
    rows=$(($(.venv/bin/python -c "import csv,sys; print(sum(1 for _ in csv.reader(open(sys.argv[1], encoding='utf-8-sig', newline=''))))" "$file") - 1))
    printf '%-8s %-8s %9d rows %7.1f MB file  peak RSS %6.1f MB  %5.1f s  (limit 150 MB)\n' \
      "$key" "$format" "$rows" "$(awk "BEGIN {print $(stat -c %s "$file") / 1048576}")" \
      "$(awk "BEGIN {print $kb / 1024}")" "$seconds"
  done
done
rm -rf "$out"
.venv/bin/python benchmarks/exports.py 2>&1 | grep -v " INFO "
