import { redactText } from '../worker/redact';

/**
 * Where a command writes. With --json, stdout carries exactly one JSON document (the command's
 * result, or `{"error": …}`); human text goes to stderr so that a script can parse stdout.
 */
export interface Io {
  json: boolean;
  /** Human output (stdout in text mode, stderr in JSON mode). */
  say(text: string): void;
  /** Warnings and progress: always stderr. */
  warn(text: string): void;
  /** The command's result: printed as JSON in JSON mode, by `text` otherwise. */
  result(doc: unknown, text?: string): void;
  isTty: boolean;
  /** Has the JSON document been printed? */
  printed(): boolean;
  /** Raw stdout writes (the watch command's redraws). */
  write(text: string): void;
}

export function processIo(json: boolean): Io {
  const line = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
  let printed = false;
  return {
    json,
    say: (t) => (json ? process.stderr : process.stdout).write(line(redactText(t))),
    warn: (t) => process.stderr.write(line(redactText(t))),
    result(doc, text) {
      if (json) {
        if (printed) throw new Error('internal: a command printed two JSON documents');
        printed = true;
        process.stdout.write(`${redactText(JSON.stringify(doc, null, 2))}\n`);
      } else if (text !== undefined) process.stdout.write(line(redactText(text)));
    },
    isTty: !json && !!process.stdout.isTTY,
    printed: () => printed,
    write: (t) => process.stdout.write(t),
  };
}
