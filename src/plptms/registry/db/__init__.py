"""Database layer of the registry: schema, engines, migrations."""
