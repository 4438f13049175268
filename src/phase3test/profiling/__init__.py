"""What a migration does to a database at scale, measured: locks, how long they are held, rewrites, scans."""
