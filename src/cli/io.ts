/** What a command may touch of the outside world; tests pass a fake and read what was written. */
export interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Whether stdin and stderr are a terminal (progress, confirmation prompts). */
  isTerminal: boolean;
  /** Asks a question on the terminal; `null` when there is no answer (no terminal, EOF). */
  prompt(question: string): Promise<string | null>;
  env: Record<string, string | undefined>;
  /** Where `backup-manager.json` is looked for; default the process's working directory. */
  cwd?: string;
}

/** The real process's io. */
export function processIo(): Io {
  const encoder = new TextEncoder();
  return {
    stdout: (text) => writeAllSync(Deno.stdout, encoder.encode(text)),
    stderr: (text) => writeAllSync(Deno.stderr, encoder.encode(text)),
    isTerminal: Deno.stdin.isTerminal() && Deno.stderr.isTerminal(),
    prompt: (question) => Promise.resolve(globalThis.prompt(question)),
    env: Deno.env.toObject(),
  };
}

function writeAllSync(target: { writeSync(p: Uint8Array): number }, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += target.writeSync(bytes.subarray(offset));
}
