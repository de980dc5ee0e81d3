from django.core.management.base import BaseCommand, CommandError

from apps.api.tokens import delete_expired_tokens, revoke_tokens


class Command(BaseCommand):
    help = "Revoke (delete) the API tokens of the users named, or every expired token."

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", metavar="USERNAME")
        parser.add_argument(
            "--expired", action="store_true", help="delete every token older than API_TOKEN_DAYS"
        )

    def handle(self, *args, usernames: list[str], expired: bool, **options):
        if not usernames and not expired:
            raise CommandError("Name the users whose tokens to revoke, or use --expired.")
        if usernames:
            count = revoke_tokens(usernames=usernames)
            self.stdout.write(f"Revoked {count} token(s) of {', '.join(usernames)}.")
        if expired:
            self.stdout.write(f"Deleted {delete_expired_tokens()} expired token(s).")
