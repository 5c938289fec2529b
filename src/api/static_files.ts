/**
 * The dashboard's files, served by the same process from a list made once, from the dashboard
 * folder's own listing (no path from a request ever reaches the file system): the page, its
 * scripts and styles, and uPlot from its npm package, so the page works without internet.
 */

const DASHBOARD = new URL("./dashboard/", import.meta.url);
const UPLOT = new URL("../../node_modules/uplot/dist/", import.meta.url);

const TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
};

function typeOf(name: string): string {
  return TYPES[name.split(".").pop() ?? ""] ?? "application/octet-stream";
}

function dashboardFiles(): Record<string, { url: URL; type: string }> {
  const files: Record<string, { url: URL; type: string }> = {
    "/": { url: new URL("index.html", DASHBOARD), type: TYPES.html },
    "/assets/uplot.js": { url: new URL("uPlot.iife.min.js", UPLOT), type: TYPES.js },
    "/assets/uplot.css": { url: new URL("uPlot.min.css", UPLOT), type: TYPES.css },
  };
  for (const entry of Deno.readDirSync(DASHBOARD)) {
    if (!entry.isFile || entry.name === "index.html" || !/^[\w.-]+$/.test(entry.name)) continue;
    files[`/assets/${entry.name}`] = {
      url: new URL(entry.name, DASHBOARD),
      type: typeOf(entry.name),
    };
  }
  return files;
}

const FILES = dashboardFiles();

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
