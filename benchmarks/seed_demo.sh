#!/usr/bin/env bash
# Time `seed_demo --products 5000 --rounds 12` (~1.7 M answers) on the local PostgreSQL.
# Usage: benchmarks/seed_demo.sh [PRODUCTS] [ROUNDS]   (uses the database maturity_bench)
set -euo pipefail
cd "$(dirname "$0")/.."
products="${1:-5000}" rounds="${2:-12}"
export DEBUG=true DATABASE_URL=postgres://postgres@127.0.0.1:5432/maturity_bench
unset CELERY_BROKER_URL REDIS_URL
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS maturity_bench" -c "CREATE DATABASE maturity_bench"
.venv/bin/python manage.py migrate --noinput -v 0
start=$(date +%s.%N)
.venv/bin/python manage.py seed_demo --products "$products" --rounds "$rounds" | grep -v "^  demo"
end=$(date +%s.%N)
answers=$(psql -tA -h 127.0.0.1 -U postgres -d maturity_bench -c "SELECT count(*) FROM surveys_answer")
python3 -c "
seconds = $end - $start
print(f'seed_demo --products $products --rounds $rounds: {seconds:.1f} s wall, '
      f'$answers answers, {$answers / seconds:,.0f} answers/s')"
