package main

import "github.com/warroom/warroom/plugins/sdk"

// version is the plugin's own version.
const version = "1.0.0"

func main() {
	t := &target{}
	sdk.Serve(sdk.Plugin{
		Name:         "exec",
		Version:      version,
		Description:  "Runs in-house deploy scripts: one shell command per deployment phase.",
		Settings:     settingSpecs,
		Configure:    t.Configure,
		DeployTarget: t,
	})
}
