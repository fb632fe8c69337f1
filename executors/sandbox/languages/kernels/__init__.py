"""Programs that run inside language child processes (no project imports)."""
