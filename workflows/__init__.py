"""The viewflow process that carries an application through its sign-offs."""
