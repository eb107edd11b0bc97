// The UI kit's public surface. The shell provides this module as a Module
// Federation shared singleton (version 1.3.0); remotes never bundle it, so
// every screen renders the same components with the same CSS variables.
import "./styles.css";

export { Page, Toolbar, StatRow, Stat, Button, Badge, type BadgeTone } from "./layout";
export { DataTable, type Column, type CellEdit, type DataTableProps, type TableSort } from "./table";
export { NO_ROWS_SELECTED, isRowSelected, selectedCount, type RowSelection, type TableSelection } from "./table-selection";
export { Drawer, SafeMarkdown } from "./table-drawer";
export { TextField, SelectField, type SelectOption } from "./fields";
export { EmptyState, ErrorState } from "./states";
export { Toaster, toast, dismissToast, useToasts, type Toast, type ToastAction, type ToastTone } from "./toasts";
export { applyTheme, currentTheme, ThemeToggle, type Theme } from "./theme";
export {
  BarChart,
  TimeChart,
  canvasAvailable,
  chartSummary,
  chartTable,
  chartTheme,
  groupedBarLayout,
  type BarChartProps,
  type ChartColor,
  type ChartSeries,
  type TimeChartProps,
} from "./charts";

/** The version the shell declares when it shares this module. */
export const UI_KIT_VERSION = "1.3.0";
