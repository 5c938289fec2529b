/** Jobs in API answers: the view plus the URL to poll. */
import type { JobView } from "../core/jobs.ts";
import { jsonResponse } from "./http_errors.ts";

/** The URL a job is polled at. */
export function jobUrl(id: string): string {
  return `/api/v1/jobs/${id}`;
}

/** A job as answers show it. */
export function jobJson(job: JobView): JobView & { url: string } {
  return { ...job, url: jobUrl(job.id) };
}

/** `202 Accepted` for a job just started, with its URL in `Location`. */
export function accepted(job: JobView): Response {
  return jsonResponse({ success: true, job: jobJson(job) }, 202, { location: jobUrl(job.id) });
}
