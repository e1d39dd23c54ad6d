from django.core.management.base import BaseCommand

from demo.seed import seed_demo


class Command(BaseCommand):
    help = "Load demo data (organisation Acme, its people, core values, recognitions and reports). Safe to run twice."

    def handle(self, *args, **options):
        if seed_demo():
            self.stdout.write(self.style.SUCCESS("Demo data loaded: organisation Acme (acme.example)"))
        else:
            self.stdout.write("Demo data already present")
