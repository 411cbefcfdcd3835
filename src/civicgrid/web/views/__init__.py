"""Page views, one module per role; each calls selectors to read and services to write."""
