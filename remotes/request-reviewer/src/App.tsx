// Request Reviewer: placeholder until the screen lands.
import { Page } from "@augment-it/ui-kit";

export default function App() {
  return <Page title="Request Reviewer"><p>Review, edit and approve the rendered requests, estimate their cost, and run them.</p></Page>;
}
