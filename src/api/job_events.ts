/**
 * A job's progress as Server-Sent Events: the job's view at once, then at most four `progress`
 * events a second while it runs, then one `done` event, and the stream ends. A comment line
 * every 15 s keeps proxies from closing an idle stream.
 */
import type { JobView } from "../core/jobs.ts";
import type { RequestScope } from "./app.ts";
import { jobJson } from "./job_json.ts";

const THROTTLE_MS = 250;
const HEARTBEAT_MS = 15_000;

/** The `text/event-stream` answer that follows `job`. */
export function jobEvents(scope: RequestScope, job: JobView): Response {
  const encoder = new TextEncoder();
  let stop = () => {};
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const send = (event: string, view: JobView) =>
        controller.enqueue(
          encoder.encode(`event: ${event}\ndata: ${JSON.stringify(jobJson(view))}\n\n`),
        );
      if (job.state !== "running") {
        send("done", job);
        controller.close();
        return;
      }
      send("progress", job);
      let timer: ReturnType<typeof setTimeout> | undefined;
      let last = 0;
      const heartbeat = setInterval(
        () => controller.enqueue(encoder.encode(": alive\n\n")),
        HEARTBEAT_MS,
      );
      const unsubscribe = scope.app.jobs.subscribe(job.id, (view) => {
        if (view.state !== "running") {
          stop();
          send("done", view);
          controller.close();
          return;
        }
        if (timer !== undefined) return;
        const wait = Math.max(0, last + THROTTLE_MS - Date.now());
        timer = setTimeout(() => {
          timer = undefined;
          last = Date.now();
          send("progress", view);
        }, wait);
      });
      stop = () => {
        unsubscribe();
        clearInterval(heartbeat);
        clearTimeout(timer);
      };
      // finished between the first look and the subscription
      const now = scope.app.jobs.get(job.id);
      if (!now || now.state !== "running") {
        stop();
        send("done", now ?? job);
        controller.close();
      }
    },
    cancel() {
      stop();
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      "x-accel-buffering": "no",
    },
  });
}
