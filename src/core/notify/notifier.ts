/**
 * The fan-out: one event to every configured channel at once, and pings to the monitor. Nothing
 * here throws or waits longer than the timeout: a notification that fails is logged (one line,
 * secrets redacted) and the backup carries on, because a broken chat hook must never cost a
 * backup.
 */
import type { NotifyEvent, NotifyKind } from "./event.ts";
import { sendWebhook, type WebhookTarget } from "./webhook.ts";
import { type EmailConfig, sendEmail } from "./email.ts";
import { type PingStage, type PingUrls, sendPing } from "./pings.ts";
import { redactUrl, scrubSecrets } from "./_redact.ts";
import { messageOf } from "../errors.ts";

/** The `notifications` settings. */
export interface NotifyConfig {
  /** Occasions to notify on. */
  on: NotifyKind[];
  webhooks: WebhookTarget[];
  email?: EmailConfig;
  healthchecks?: PingUrls;
}

/** Nothing configured: every call is a no-op. */
export const NO_NOTIFICATIONS: Readonly<NotifyConfig> = { on: [], webhooks: [] };

/** Options of {@linkcode Notifier}. */
export interface NotifierOptions {
  /** Receives one line per failed delivery, secrets already redacted. */
  log: (message: string) => void;
  /** Every HTTP request and SMTP conversation gives up after this long. Default 10 s. */
  timeoutMs?: number;
  /** Named in every message, so alerts from several servers can be told apart. Default this host. */
  host?: string;
  /** Extra trusted certificate authorities (PEM) for SMTP; default the system's. */
  tlsCa?: string;
}

/** How one channel fared. */
export interface Delivery {
  /** `webhook https://host/…` or `email smtp.example.com:587`: never a secret. */
  channel: string;
  ok: boolean;
  /** One line, secrets redacted. */
  error?: string;
}

/** Default deadline of every delivery. */
export const NOTIFY_TIMEOUT_MS = 10_000;

/** Sends events and pings as configured; see the module comment for its failure rules. */
export class Notifier {
  readonly #config: NotifyConfig;
  readonly #log: (message: string) => void;
  readonly #timeoutMs: number;
  readonly #host: string;
  readonly #tlsCa?: string;
  readonly #secrets: string[];

  constructor(config: NotifyConfig, options: NotifierOptions) {
    this.#config = config;
    this.#log = options.log;
    this.#timeoutMs = options.timeoutMs ?? NOTIFY_TIMEOUT_MS;
    this.#host = options.host ?? hostname();
    this.#tlsCa = options.tlsCa;
    this.#secrets = [
      ...config.webhooks.map((w) => w.url),
      ...Object.values(config.healthchecks ?? {}).filter((u): u is string => !!u),
      ...(config.email?.password ? [config.email.password] : []),
    ];
  }

  /** Whether an event of `kind` would go anywhere (so callers can skip gathering it). */
  wants(kind: NotifyKind): boolean {
    return this.#config.on.includes(kind) &&
      (this.#config.webhooks.length > 0 || this.#config.email !== undefined);
  }

  /** Sends `event` to every channel concurrently if its kind is enabled; never throws. */
  async notify(event: NotifyEvent): Promise<Delivery[]> {
    if (!this.wants(event.kind)) return [];
    const options = { host: this.#host, timeoutMs: this.#timeoutMs, tlsCa: this.#tlsCa };
    const sends: [string, () => Promise<void>][] = this.#config.webhooks.map((target) => [
      `webhook "${redactUrl(target.url)}"`,
      () => sendWebhook(target, event, options),
    ]);
    const email = this.#config.email;
    if (email) {
      sends.push([`email "${email.host}:${email.port}"`, () => sendEmail(email, event, options)]);
    }
    return await Promise.all(sends.map(async ([channel, send]) => {
      try {
        await send();
        return { channel, ok: true };
      } catch (error) {
        const reason = scrubSecrets(oneLine(messageOf(error)), this.#secrets);
        this.#log(
          `Cannot send the ${event.kind} notification by ${channel}: ${reason} (backups are not affected)`,
        );
        return { channel, ok: false, error: reason };
      }
    }));
  }

  /** Pings the monitor's `stage` URL, if set, with `message` as the body; never throws. */
  async ping(stage: PingStage, message = ""): Promise<Delivery | undefined> {
    const url = this.#config.healthchecks?.[stage];
    if (!url) return undefined;
    const channel = `ping "${redactUrl(url)}" (${stage})`;
    try {
      await sendPing(url, message, this.#timeoutMs);
      return { channel, ok: true };
    } catch (error) {
      const reason = scrubSecrets(oneLine(messageOf(error)), this.#secrets);
      this.#log(`Cannot send ${channel}: ${reason} (backups are not affected)`);
      return { channel, ok: false, error: reason };
    }
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function hostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "unknown host"; // no --allow-sys
  }
}
