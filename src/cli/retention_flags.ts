/** The `--keep-*` flags, shared by `cleanup` and `auto` so both read a policy the same way. */
import type { Command } from "npm:commander@15.1.0";
import type { SettingValue } from "../config/environment.ts";
import { flagSetting } from "./deps.ts";

const FLAGS = [
  [
    "keepLast",
    "--keep-last",
    "keep the newest n good backups of each type (env BACKUP_MAX_BACKUPS)",
  ],
  ["keepDays", "--keep-days", "keep every backup younger than n days (env BACKUP_RETENTION_DAYS)"],
  ["keepHourly", "--keep-hourly", "keep the newest backup of each of the last n hours"],
  ["keepDaily", "--keep-daily", "keep the newest backup of each of the last n days"],
  ["keepWeekly", "--keep-weekly", "keep the newest backup of each of the last n ISO weeks"],
  ["keepMonthly", "--keep-monthly", "keep the newest backup of each of the last n months"],
  ["keepYearly", "--keep-yearly", "keep the newest backup of each of the last n years"],
] as const;

/** Adds every `--keep-*` option to a command. */
export function withRetentionOptions(command: Command): Command {
  for (const [, flag, help] of FLAGS) command.option(`${flag} <n>`, help);
  return command;
}

/** The `--keep-*` values given, as `retention.*` settings (checked with the other settings). */
export function retentionSettings(raw: Record<string, unknown>): SettingValue[] {
  return FLAGS.map(([key, flag]) => flagSetting(`retention.${key}`, flag, raw[key]));
}
