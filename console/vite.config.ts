import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vitest/config'

// The manager serves the build from dist/console; `npm run dev -w console` proxies the API to a
// manager already running (DAMSELFLY_MANAGER_URL, default http://127.0.0.1:8080).
const manager = process.env['DAMSELFLY_MANAGER_URL'] ?? 'http://127.0.0.1:8080'

export default defineConfig({
  plugins: [react()],
  resolve: {
    // The API's own input rules, so a form refuses exactly what the API would.
    alias: {
      '@manager-api': fileURLToPath(new URL('../src/manager/api/', import.meta.url)),
      '@manager-jobs': fileURLToPath(new URL('../src/manager/jobs/', import.meta.url)),
    },
  },
  build: {
    outDir: fileURLToPath(new URL('../dist/console/', import.meta.url)),
    emptyOutDir: true,
    // No inline scripts or styles: the manager's Content-Security-Policy allows only its own files.
    assetsInlineLimit: 0,
  },
  server: { proxy: { '/api': manager, '/oapi': manager } },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}', 'scripts/**/*.test.ts'],
    testTimeout: 10_000,
  },
})
