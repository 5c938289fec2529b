/**
 * A real headless browser for tests: Debian's Chromium driven by playwright-core (never
 * `playwright`, which downloads browsers), with the flags that keep it off the closed network
 * (see /work/shared/ECOSYSTEM.md) and a fresh profile in a temporary directory that `close()`
 * removes.
 */
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Where Debian installs Chromium; `CHROMIUM_PATH` points elsewhere. */
export const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Chromium flags: headless, no sandbox (CI runs as root), and no background network traffic. */
export const CHROMIUM_ARGS: readonly string[] = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A running browser and its profile. */
export interface TestBrowser {
  /** The browser's one (persistent) context. */
  context: BrowserContext;
  /** The page the browser opened with. */
  page: Page;
  /** The temporary profile (Chromium's `--user-data-dir`). */
  profile: string;
  /** Closes the browser and removes its profile; safe to call twice and from `finally`. */
  close(): Promise<void>;
}

/** Options of {@linkcode launchBrowser}. */
export interface LaunchBrowserOptions {
  /** Default {@linkcode CHROMIUM_PATH}. */
  executablePath?: string;
  /** Flags added after {@linkcode CHROMIUM_ARGS}. Default none. */
  args?: string[];
  /** How long launching may take, in ms. Default 30 000. */
  timeout?: number;
}

/** Whether Chromium is installed where {@linkcode launchBrowser} looks for it. */
export function hasChromium(path: string = CHROMIUM_PATH): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Launches headless Chromium with a fresh profile (see the module comment). Playwright passes the
 * profile as `--user-data-dir` itself: it refuses the flag in `args` and takes the directory as
 * a persistent context's.
 */
export async function launchBrowser(options: LaunchBrowserOptions = {}): Promise<TestBrowser> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  if (!hasChromium(executablePath)) {
    throw new Error(
      `Cannot start the browser: "${executablePath}" does not exist (install Debian's chromium, or set CHROMIUM_PATH)`,
    );
  }
  const profile = await Deno.makeTempDir({ prefix: "backup-manager-chromium-" });
  let context: BrowserContext | undefined;
  let page: Page;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
      timeout: options.timeout ?? 30_000,
    });
    page = context.pages()[0] ?? await context.newPage();
  } catch (error) {
    await context?.close().catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
    throw error;
  }
  const opened = context;
  let closing: Promise<void> | undefined;
  return {
    context: opened,
    page,
    profile,
    close: () =>
      closing ??= (async () => {
        try {
          await opened.close();
        } finally {
          await Deno.remove(profile, { recursive: true }).catch(() => {});
        }
      })(),
  };
}
