package agent

import (
	"fmt"

	"logship/config"
)

// pluginSource builds the runtime of a source whose configuration is in
// config.Source.Plugin (http, monitor_agent, prometheus, …). Its records
// enter the router with a.router.Emit(ctx, sc.Label, recs), Source 0.
func (a *Agent) pluginSource(sc *config.Source) (sourceRunner, error) {
	return nil, fmt.Errorf("source %q has no runtime", sc.Type)
}
