// What the exports function and the exports job agree on, kept apart from the job's code so
// that the exports function does not bundle the renderers (and pdf-lib).

/** QStash retries per delivery. */
export const EXPORT_JOB_RETRIES = 5;

/** The logical job of one chunk of one export. */
export const exportJobKey = (exportId: string, chunk: number) => `export:${exportId}:${chunk}`;
