"""The grant domain: organisations, people and roles, applications, budgets and money."""
