/**
 * A real SMTP server in-process (`smtp-server`) for email tests: AUTH PLAIN/LOGIN against one
 * user, STARTTLS with the self-signed certificate in `tests/fixtures/tls/`, and every message
 * kept with whether it arrived over TLS.
 */
import { SMTPServer } from "smtp-server";
import type { AddressInfo } from "node:net";
import { Buffer } from "node:buffer";

/** The TLS certificate (PEM) the receiver offers; clients that trust it pass it as their CA. */
export const TEST_CERT: string = Deno.readTextFileSync(
  new URL("../fixtures/tls/cert.pem", import.meta.url),
);
const TEST_KEY = Deno.readTextFileSync(new URL("../fixtures/tls/key.pem", import.meta.url));

/** One message the receiver accepted. */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** The raw message: headers and body. */
  raw: string;
  /** The user that authenticated, if any. */
  user?: string;
  /** Whether the session was encrypted (STARTTLS) when the message came. */
  secure: boolean;
}

/** Options of {@linkcode startSmtpReceiver}. */
export interface SmtpReceiverOptions {
  /** The one account AUTH accepts. */
  user: string;
  password: string;
  /** Offer STARTTLS. Default `true`. */
  starttls?: boolean;
}

/** A running receiver; `close()` it in `finally`. */
export interface SmtpReceiver {
  port: number;
  messages: ReceivedMail[];
  /** Every AUTH attempt's user and whether it succeeded. */
  logins: { user: string; ok: boolean }[];
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 and an ephemeral port. */
export async function startSmtpReceiver(options: SmtpReceiverOptions): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = [];
  const logins: SmtpReceiver["logins"] = [];
  const server = new SMTPServer({
    key: TEST_KEY,
    cert: TEST_CERT,
    hideSTARTTLS: options.starttls === false,
    disabledCommands: options.starttls === false ? ["STARTTLS"] : [],
    authMethods: ["PLAIN", "LOGIN"],
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      const ok = auth.username === options.user && auth.password === options.password;
      logins.push({ user: auth.username ?? "", ok });
      if (!ok) return callback(new Error("Invalid username or password"));
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      const chunks: Uint8Array[] = [];
      stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      stream.on("end", () => {
        messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString("utf8"),
          user: typeof session.user === "string" ? session.user : undefined,
          secure: session.secure,
        });
        callback();
      });
    },
  });
  // a client that drops the connection (say, on an untrusted certificate) is its failure, not ours
  server.on("error", () => {});
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    port,
    messages,
    logins,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A header's value with folded lines joined and RFC 2047 encoded words decoded. */
export function headerValue(raw: string, name: string): string | undefined {
  const head = raw.slice(0, raw.indexOf("\r\n\r\n")).replace(/\r\n[ \t]+/g, " ");
  const line = head.split("\r\n").find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (line === undefined) return undefined;
  return line.slice(name.length + 1).trim()
    .replace(/\?=\s+=\?/g, "?==?") // whitespace between encoded words is not part of the text
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_, encoding: string, text: string) => {
      if (encoding.toUpperCase() === "B") return new TextDecoder().decode(decodeBase64(text));
      const bytes = text.replace(/_/g, " ").replace(
        /=([0-9A-F]{2})/gi,
        (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)),
      );
      return new TextDecoder().decode(Uint8Array.from(bytes, (c) => c.charCodeAt(0)));
    });
}

function decodeBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** Runs `fn` with a receiver and closes it afterwards, whatever happens. */
export async function withSmtpReceiver<T>(
  options: SmtpReceiverOptions,
  fn: (receiver: SmtpReceiver) => Promise<T>,
): Promise<T> {
  const receiver = await startSmtpReceiver(options);
  try {
    return await fn(receiver);
  } finally {
    await receiver.close();
  }
}
