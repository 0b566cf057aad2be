// Command exec is warroom's universal deploy-target plugin: it adapts the
// in-house deploy scripts an organisation already has to warroom's
// DeployTarget contract. Each step of a deployment is one shell command
// from the plugin configuration; the step's details reach the command as
// environment variables, and the command reports back through its exit
// code and a few line directives on stdout.
//
// # Settings
//
//	preflight    command for pre-flight checks          (optional)
//	deploy       command that deploys a version         (needed to deploy)
//	set_traffic  command that splits traffic            (optional; enables traffic shifting)
//	verify       command for post-deployment smoke tests (optional)
//	rollback     command that goes back to a version    (needed to roll back)
//	status       command that reports what runs, as JSON (optional)
//	workdir      directory the commands run in; relative to the state dir (default: the state dir)
//	timeout      time limit of one command, a Go duration (default 10m)
//	shell        shell that runs a command as `SHELL -c COMMAND` (default /bin/sh)
//
// Any other setting is refused, so a typo cannot silently drop a step.
//
// # Environment of a command
//
// A command does not inherit the plugin's environment: it gets a minimal
// PATH (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin),
// HOME (the plugin's HOME, else the work directory), LANG=C.UTF-8, and
// these variables (a variable a step does not carry is set empty, so
// `set -u` scripts work):
//
//	WARROOM_PHASE            preflight, deploy, set_traffic, verify, rollback or status
//	WARROOM_STATE_DIR        the plugin's state directory
//	WARROOM_SERVICE          service name (status: empty means every service)
//	WARROOM_ENVIRONMENT      environment name
//	WARROOM_REGION           region, possibly empty
//	WARROOM_VERSION          version to deploy / verify / roll back to
//	WARROOM_FROM_VERSION     version being replaced (deploy, rollback)
//	WARROOM_ARTIFACT_DIGEST  artifact digest, e.g. sha256:... (preflight, deploy)
//	WARROOM_ARTIFACT_REF     artifact reference, e.g. an image name (preflight, deploy)
//	WARROOM_STRATEGY         rolling, blue-green or canary (preflight, deploy)
//	WARROOM_BATCH_SIZE       instances per batch (deploy)
//	WARROOM_INSTANCES        instances wanted (deploy)
//	WARROOM_SERVICE_KIND     kind of service, e.g. stateless, database (deploy)
//	WARROOM_RUN_ID           warroom run id (deploy, rollback)
//	WARROOM_STEP             step number within the run (deploy, rollback)
//	WARROOM_ATTEMPT          attempt number of the step (deploy)
//	WARROOM_IDEMPOTENCY_KEY  idempotency key (deploy, rollback, set_traffic)
//	WARROOM_WEIGHTS          traffic split, e.g. "1.4.0=90,1.5.0=10" (set_traffic)
//	WARROOM_REASON           why warroom rolls back (rollback)
//	WARROOM_CHECKS           comma-separated check names asked for; empty means
//	                         the default smoke tests (verify)
//	WARROOM_SETTING_<NAME>   each per-request setting, NAME upper-cased with
//	                         every character other than A-Z, 0-9 and _ as _
//
// # What a command reports
//
// Exit status 0 is success, anything else failure; on failure the last
// 20 lines of stderr become the error message. A command that outlives
// the timeout, or whose call warroom cancels, is sent SIGTERM with its
// whole process group, and SIGKILL once the shell has exited or a grace
// period has passed. Background processes a command leaves running after
// a successful exit are left alone (a "start the service" script may
// want exactly that), but they must not keep the command's stdout or
// stderr open.
//
// deploy and rollback: every stdout line becomes a progress event of
// phase "deploy" or "rollback". Two directives change the event:
//
//	::progress 40 [MESSAGE]   sets the percentage done (0..100)
//	::phase NAME [MESSAGE]    sets the phase shown from now on (draining, migrating...)
//
// preflight and verify: exit 0 gives one passed check named after the
// phase with the last stdout line as its message, a failure one failed
// check with the stderr tail. To report individual checks instead, print
//
//	::check NAME pass|fail [MESSAGE]
//
// once per check; a non-zero exit then adds a failed check named after
// the phase, and a malformed ::check line is a failed check of its own.
// Without a configured command, preflight and verify report one passed
// check saying that nothing was checked.
//
// set_traffic: exit 0 means the split in WARROOM_WEIGHTS is in effect.
// Without the command the plugin does not shift traffic.
//
// status: the command prints one JSON document on stdout, the shape of
// warroom's sdk.Status (unknown fields are refused):
//
//	{"services": [{
//	   "target": {"service": "api", "environment": "prod", "region": "eu-west-1"},
//	   "versions": [{"version": "1.5.0", "instances": 4, "ready": 4, "weight": 100, "colour": "blue"}],
//	   "healthy": true,
//	   "message": "4/4 ready"}],
//	 "applied_keys": ["..."]}
//
// A service whose target leaves environment or region empty takes the
// request's. The journal's applied keys are added to the command's.
// Without a status command, Status reports what the journal knows: per
// service, the last version deployed or rolled back to successfully (and
// the last traffic split after it), marked as not observed.
//
// # Idempotency journal
//
// Deploy, Rollback and SetTraffic carry an idempotency key. The plugin
// keeps a journal, exec-journal.jsonl in the state dir: an append-only
// file of JSON lines, each fsync'd before the command starts or the call
// returns, one per state change of a key:
//
//	{"key":"run-7/3/1","op":"deploy","state":"started","at":"2025-...Z","service":"api","environment":"prod","version":"1.5.0"}
//	{"key":"run-7/3/1","op":"deploy","state":"done","at":"...","service":"api","environment":"prod","version":"1.5.0"}
//
// state is started, done or failed (with a message); set_traffic lines
// carry the weights. A call repeated with a key whose last state is done
// or failed does not run the command again: Deploy and Rollback send a
// done event with Replayed set (and Failed if it had failed), SetTraffic
// returns the recorded weights. A key left "started" (warroom or the
// plugin died mid-command, or the call was cancelled) is not applied: a
// repeated call runs the command again, so deploy and rollback scripts
// must themselves be safe to run twice. Status lists only done keys as
// applied. A torn last line left by a crash is dropped when the journal
// is opened.
package main
