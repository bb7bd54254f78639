"""The benchmark app: holds the stock-viewflow comparison flow, never installed outside the benchmarks."""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Only `bench.settings` installs this app; its flow stores rows as `bench/flows.StockFlow`."""

    name = "bench"
    verbose_name = "Benchmarks"
    default_auto_field = "django.db.models.BigAutoField"
