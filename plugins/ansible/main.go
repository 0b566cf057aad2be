package main

import "github.com/warroom/warroom/plugins/sdk"

// version is the plugin's own version.
const version = "1.0.0"

func main() {
	t := &target{}
	sdk.Serve(sdk.Plugin{
		Name:         "ansible",
		Version:      version,
		Description:  "Deploys with Ansible: one ansible-playbook run per deployment phase, its tasks streamed as progress.",
		Settings:     settingSpecs,
		Configure:    t.Configure,
		DeployTarget: t,
	})
}
