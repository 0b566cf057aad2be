// Command ansible is warroom's Ansible deploy target: every phase of a
// deployment step is one run of a real ansible-playbook, which learns the
// step from extra vars, streams its tasks to warroom as progress, and
// fails the step with the failing task named.
//
// # Settings
//
//	playbook              playbook for every phase; it branches on warroom_phase
//	deploy_playbook       playbook of one phase, instead of playbook
//	rollback_playbook       "
//	verify_playbook         "
//	preflight_playbook      "
//	set_traffic_playbook    "
//	status_playbook         "
//	inventory             -i argument: a file, a directory or a host list like "web1,web2,"
//	                      (default: a generated inventory.ini in the state dir holding
//	                      `localhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3`)
//	ansible_playbook      the program, a path or a name on PATH (default ansible-playbook)
//	extra_vars            JSON object of extra vars for every run (warroom_* names are reserved)
//	timeout               time limit of one run, a Go duration (default 30m)
//	workdir               directory ansible-playbook runs in, where it finds an ansible.cfg;
//	                      relative playbook and inventory paths are relative to it
//	                      (default: the state dir; a relative workdir is relative to the state dir)
//
// At least one playbook must be set; Configure refuses a playbook file
// that does not exist and any unknown setting (CodeInvalid), so a typo
// cannot silently drop a phase. A phase runs its own playbook if set,
// else playbook. A phase left without either: deploy and rollback fail
// (CodeInvalid), preflight and verify report one passed check saying
// nothing was checked, set_traffic is unimplemented (and Describe says
// the target does not shift traffic), status reports the journal's
// knowledge. Note that with playbook alone every phase runs it, including
// set_traffic: a playbook that does nothing in that phase tells warroom
// the split is in effect.
//
// # The run
//
// Every phase runs, in workdir,
//
//	ansible-playbook -i INVENTORY PLAYBOOK --extra-vars @STATE/calls/PHASE-NNN.yml
//
// with a minimal environment (PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin,
// HOME, LANG=C.UTF-8; nothing else of the plugin's environment) plus
// ANSIBLE_NOCOLOR=1, ANSIBLE_FORCE_COLOR=0, ANSIBLE_HOST_KEY_CHECKING=False,
// ANSIBLE_RETRY_FILES_ENABLED=False, PYTHONUNBUFFERED=1 (so that tasks
// stream as they happen), the default stdout callback with one-line JSON
// results (ANSIBLE_STDOUT_CALLBACK=default and the display options the
// plugin reads, whatever an ansible.cfg says), and ansible's own files
// under STATE/ansible rather than ~/.ansible: ANSIBLE_HOME,
// ANSIBLE_LOCAL_TEMP (STATE/ansible/tmp), ANSIBLE_REMOTE_TEMP
// (STATE/ansible/remote-tmp) and, when the path is short enough for a
// socket, ANSIBLE_SSH_CONTROL_PATH_DIR (STATE/ansible/cp).
//
// Consequences: collections and roles installed in ~/.ansible are not
// found; keep them beside the playbook (collections/, roles/), in
// /usr/share/ansible, or name their paths in workdir's ansible.cfg. The
// remote temp dir applies to every host: for remote hosts set
// ansible_remote_tmp in the inventory (a host variable wins over the
// environment), e.g. to ~/.ansible/tmp.
//
// A run that outlives the timeout, or whose call warroom cancels, gets
// SIGTERM with its whole process group (ansible's workers and the
// modules they run), then SIGKILL; timed out, it fails the step.
//
// # Extra vars
//
// Each run's vars file defines every one of these, set to "", 0 or []
// when the phase does not carry it, so a playbook needs no default():
//
//	warroom_phase            deploy, rollback, verify, preflight, set_traffic or status
//	warroom_service          service name (status: "" means every service)
//	warroom_environment      environment name
//	warroom_region           region, possibly ""
//	warroom_version          deploy, preflight, verify: the version; rollback: the version
//	                         rolled back to; set_traffic: the version traffic moves to
//	warroom_from_version     version being replaced (deploy, rollback)
//	warroom_strategy         rolling, blue-green or canary (preflight, deploy)
//	warroom_weight           set_traffic: warroom_version's percent
//	warroom_weights          set_traffic: the whole split, [{"version": "1.4.0", "percent": 90}, ...]
//	warroom_batch_size       instances per batch (deploy)
//	warroom_instances        instances wanted (deploy)
//	warroom_service_kind     stateless, database... (deploy)
//	warroom_artifact_digest  e.g. sha256:... (preflight, deploy)
//	warroom_artifact_ref     e.g. an image name (preflight, deploy)
//	warroom_run_id           warroom run id (deploy, rollback)
//	warroom_step             step number within the run (deploy, rollback)
//	warroom_attempt          attempt number of the step (deploy)
//	warroom_idempotency_key  deploy, rollback, set_traffic
//	warroom_reason           why warroom rolls back (rollback)
//	warroom_checks           check names asked for; [] means the default smoke tests (verify)
//	warroom_settings         the step's per-request settings, a dict (preflight, deploy, verify)
//	warroom_status_file      where the status playbook writes its JSON (status)
//	warroom_state_dir        the plugin's state directory
//
// plus the extra_vars setting. The "version traffic moves to" is the
// version this target last deployed or rolled back to, if the split
// names it, else the split's first (warroom's engine lists the new
// version first). The file is YAML in JSON's flow syntax in which every
// string warroom passes is tagged !unsafe: ansible never evaluates
// "{{ ... }}" in a version, a reason or a setting, which are data (a
// rollback reason may quote a smoke test's response). Strings of the
// extra_vars setting are templated as usual.
//
// # Progress and failures
//
// Deploy and rollback stream the default callback's output as events:
// each TASK (or RUNNING HANDLER) line is an event whose phase is the task
// name and whose percent is the tasks done over the tasks seen so far
// (an approximation: ansible does not announce how many tasks are to
// come; the final done event says 100), and the other lines (ok:,
// changed:, skipping:, the recap...) are messages of the task's phase. A
// fatal: or failed: line is a message "failed on HOST: MSG", MSG being
// the result's msg (with a command's exit code and stderr) read from the
// JSON after "=>", else the raw text. A failure followed by "...ignoring"
// (ignore_errors), or by later results of the same host (a rescue block),
// does not count. A failed run fails the step with
//
//	ansible task "Start payments 3.2.0" failed on localhost: non-zero return code 3: port 8080 in use (play recap: localhost failed=1 unreachable=0)
//
// naming the last failing task; a run that failed without a failed task
// reads "ansible-playbook exited with code 4; last stderr lines: ERROR!
// ...", and a timeout `ansible task "X" timed out: ansible-playbook timed
// out after 30m0s and its process group was killed ...`.
//
// Preflight and verify: each task that ran (was not skipped on every
// host) is one check named after the task; it passed unless it failed
// the run, and its message is the result's msg (a debug task's, say) or
// "ok on HOST". A failure that was ignored or rescued passes and says
// so. A run that failed without a failed task adds a failed check named
// after the playbook file; a run in which no task ran is one passed check
// named after the playbook file.
//
// # Status
//
// The status playbook writes one JSON document to warroom_status_file,
// in the shape of warroom's sdk.Status (unknown fields are refused):
//
//	{"services": [{
//	   "target": {"service": "api", "environment": "prod", "region": "eu-west-1"},
//	   "versions": [{"version": "1.5.0", "instances": 4, "ready": 4, "weight": 100, "colour": "blue"}],
//	   "healthy": true,
//	   "message": "4/4 ready"}],
//	 "applied_keys": ["..."]}
//
// e.g. with `copy: {dest: "{{ warroom_status_file }}", content: "{{ status | to_json }}"}`.
// A service whose target leaves environment or region empty takes the
// request's; the journal's applied keys are added. A status_playbook that
// writes nothing is an error; the general playbook may leave the status
// phase alone, and Status then reports, like a target without any status
// playbook, what the journal knows: per service the last version
// deployed or rolled back to (and the last split after it), marked as not
// observed.
//
// # Idempotency
//
// Deploy, Rollback and SetTraffic carry an idempotency key, recorded in
// STATE/ansible-journal.jsonl (append-only JSON lines, each fsync'd before
// the playbook starts or the call returns), exactly as the exec plugin
// does: a key whose last state is done or failed is not run again
// (Deploy and Rollback send a done event with Replayed set, and Failed if
// it had failed; SetTraffic returns the recorded weights), a key left
// started by a crash or a cancellation runs again (so playbooks must be
// safe to run twice, as idempotent playbooks are), and Status lists the
// done keys as applied.
package main
