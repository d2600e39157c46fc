"""Access: users, roles, passwords, sessions. Imports core and store."""
