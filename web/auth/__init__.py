"""Who may do what: API tokens for systems (people and sessions come with the web issue)."""
