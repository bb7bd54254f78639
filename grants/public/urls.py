"""URLs of the public page."""

app_name = "public"
urlpatterns: list = []
