"""Settings, database engine and sessions, ORM models, migrations, ids and clock."""
