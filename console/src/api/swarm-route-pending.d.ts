// The swarm route (GET /api/v1/tasks/{task_id}/swarm) is added to the manager on another branch;
// until it is merged and `npm run generate-api -w console` writes it into schema.d.ts, this
// declares it in the generated shape. Delete this file once schema.d.ts has the path (the
// compiler then reports the two declarations).
export {}

declare module './schema' {
  interface paths {
    '/api/v1/tasks/{task_id}/swarm': {
      parameters: { query?: never; header?: never; path?: never; cookie?: never }
      /** The swarm of a task, from the scheduler that holds it */
      get: {
        parameters: {
          query?: { cluster_id?: string }
          header?: never
          path: { task_id: string }
          cookie?: never
        }
        requestBody?: never
        responses: { 200: { headers: { [name: string]: unknown }; content?: never } }
      }
      put?: never
      post?: never
      delete?: never
      options?: never
      head?: never
      patch?: never
      trace?: never
    }
  }
}
