// The create-backup form of the actions card: its type and optional description become a create
// job; the description is cleared once the job has started.
import { $, whileBusy } from "./dom.js";
import { startJob } from "./jobs.js";

/** The form's submit handler. */
export async function createBackup(event) {
  event.preventDefault();
  await whileBusy("create-button", async () => {
    const description = $("create-description").value.trim();
    const body = { type: $("create-type").value };
    if (description) body.description = description;
    if (await startJob("POST", "/api/v1/backups", body, "Create a backup")) {
      $("create-description").value = "";
    }
  });
}
