// Imported first by bench scripts that run a Rebound worker in their own process: src/log.ts
// reads REBOUND_LOG_LEVEL when it is first imported, and an info line per worker event would mix
// into the script's output. Set before any src/ module loads; an explicit level is kept.
process.env.REBOUND_LOG_LEVEL ??= 'warn';

export {};
