package main

import "github.com/warroom/warroom/plugins/sdk"

// version is the plugin's own version.
const version = "1.0.0"

func main() {
	t := &tracker{}
	sdk.Serve(sdk.Plugin{
		Name:        "tickets-local",
		Version:     version,
		Description: "Warroom's built-in change tracker: changes, approvals, comments and an outbox in a SQLite file.",
		Settings:    settingSpecs,
		Configure:   t.Configure,
		Ticketing:   t,
	})
}
