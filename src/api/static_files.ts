/**
 * The dashboard's files, served by the same process from a fixed list (no path from the request
 * ever reaches the file system): the page, its script and style, and uPlot from its npm package,
 * so the page works without internet.
 */

const DASHBOARD = new URL("./dashboard/", import.meta.url);
const UPLOT = new URL("../../node_modules/uplot/dist/", import.meta.url);

const FILES: Record<string, { url: URL; type: string }> = {
  "/": { url: new URL("index.html", DASHBOARD), type: "text/html; charset=utf-8" },
  "/assets/app.js": { url: new URL("app.js", DASHBOARD), type: "text/javascript; charset=utf-8" },
  "/assets/style.css": { url: new URL("style.css", DASHBOARD), type: "text/css; charset=utf-8" },
  "/assets/uplot.js": {
    url: new URL("uPlot.iife.min.js", UPLOT),
    type: "text/javascript; charset=utf-8",
  },
  "/assets/uplot.css": { url: new URL("uPlot.min.css", UPLOT), type: "text/css; charset=utf-8" },
};

/** Whether `path` is one of the dashboard's files (they need no token: they hold no data). */
export function isStaticPath(path: string): boolean {
  return Object.hasOwn(FILES, path);
}

/** The file at `path`, or a 404 naming what is missing (uPlot before `deno install`). */
export async function staticResponse(path: string): Promise<Response> {
  const file = FILES[path];
  try {
    const body = await Deno.readFile(file.url);
    return new Response(body, {
      headers: { "content-type": file.type, "cache-control": "no-cache" },
    });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    return new Response(`Not found: ${path} (run "deno install" in the project to fetch it)\n`, {
      status: 404,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
}
