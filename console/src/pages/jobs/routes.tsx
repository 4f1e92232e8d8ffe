import { Route } from 'react-router'
import { DistributionPage } from './distribution'
import { DistributionsPage } from './distributions'
import { NewDistributionPage } from './new-distribution'
import { NewPreheatPage } from './new-preheat'
import { PreheatPage } from './preheat'
import { PreheatsPage } from './preheats'

/** The jobs pages, under the signed-in layout. */
export const jobsRoutes = (
  <>
    <Route path="/jobs/preheats" element={<PreheatsPage />} />
    <Route path="/jobs/preheats/new" element={<NewPreheatPage />} />
    <Route path="/jobs/preheats/:id" element={<PreheatPage />} />
    <Route path="/jobs/distributions" element={<DistributionsPage />} />
    <Route path="/jobs/distributions/new" element={<NewDistributionPage />} />
    <Route path="/jobs/distributions/:id" element={<DistributionPage />} />
  </>
)
