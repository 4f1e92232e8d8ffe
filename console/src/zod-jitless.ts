import { z } from 'zod'

// The manager's Content-Security-Policy forbids eval. Zod probes for it with `Function('')` when
// it builds its first object schema (at import time, in the API's schema modules), and the browser
// reports each probe as a violation: this module is imported first, so no schema is built before.
z.config({ jitless: true })
