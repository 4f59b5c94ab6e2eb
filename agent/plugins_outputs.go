package agent

import (
	"context"
	"fmt"

	"logship/config"
)

// pluginOutput builds the runtime of an output whose configuration is in
// config.Output.Plugin (rewrite_tag_filter, …).
func (a *Agent) pluginOutput(ctx context.Context, oc *config.Output) (Output, error) {
	return nil, fmt.Errorf("output %q has no runtime", oc.Type)
}
