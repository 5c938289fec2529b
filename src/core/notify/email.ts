/**
 * Email over SMTP with nodemailer: optional AUTH, implicit TLS (`secure`, port 465) or STARTTLS
 * (required when asked for, so a password never crosses the network in clear), and deadlines on
 * connect, greeting and every socket wait.
 */
import type { NotifyEvent } from "./event.ts";

/** SMTP settings (the `notifications.email` section). */
export interface EmailConfig {
  host: string;
  port: number;
  /** TLS from the first byte (port 465). */
  secure: boolean;
  /** Upgrade a plain connection with STARTTLS, and refuse to go on without it. */
  starttls: boolean;
  user?: string;
  password?: string;
  from: string;
  to: string[];
}

/** Options of {@linkcode sendEmail}. */
export interface SendEmailOptions {
  host: string;
  timeoutMs: number;
  /** Extra trusted certificate authorities in PEM (a private CA); default the system's. */
  tlsCa?: string;
}

/** Subject and plain-text body of an event's email. */
export function emailMessage(event: NotifyEvent, host: string): { subject: string; text: string } {
  return {
    subject: `[backup-manager] ${event.summary} on ${host}`,
    text: [
      `${event.summary} on ${host}.`,
      "",
      ...event.details,
      ...(event.details.length ? [""] : []),
      `Event: ${event.kind}`,
      `Time: ${event.time.toISOString()}`,
      `Database: ${event.database}`,
      ...(event.backupId ? [`Backup: ${event.backupId}`] : []),
      "",
      "-- backup-manager",
      "",
    ].join("\n"),
  };
}

/** Sends `event` to every recipient; throws on any SMTP failure or timeout. */
export async function sendEmail(
  config: EmailConfig,
  event: NotifyEvent,
  options: SendEmailOptions,
): Promise<void> {
  // Loaded on first use: most runs send no email, and the library costs every start ~40 ms.
  const { default: nodemailer } = await import("npm:nodemailer@10.6.0");
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure: config.secure,
    requireTLS: !config.secure && config.starttls,
    ignoreTLS: !config.secure && !config.starttls,
    auth: config.user ? { user: config.user, pass: config.password ?? "" } : undefined,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    tls: options.tlsCa ? { ca: options.tlsCa } : undefined,
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const message = emailMessage(event, options.host);
    await Promise.race([
      transport.sendMail({ from: config.from, to: config.to, ...message }),
      new Promise((_, reject) => {
        // the per-step timeouts above bound each wait; this bounds the whole conversation
        timer = setTimeout(
          () => reject(new Error(`no answer within ${options.timeoutMs / 1000} s`)),
          options.timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
    transport.close();
  }
}
