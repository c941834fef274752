-- orca: its own schema in the shared database; tables arrive with the issues that use them.
CREATE SCHEMA IF NOT EXISTS orca;
