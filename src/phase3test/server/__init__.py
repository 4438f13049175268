"""One PostgreSQL server and its databases: binaries, initdb and start/stop as an unprivileged user, process
identity and the watchdog, a container, and creating or dropping databases cloned from templates."""
