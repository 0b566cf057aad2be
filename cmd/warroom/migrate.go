package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/store"
)

func newMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Upgrade the database's schema to this warroom's",
		Long: `Upgrade an existing database's schema to the one this warroom uses, after
warroom itself was upgraded. Each numbered migration runs in its own
transaction; a database already up to date is left alone.

Only apply, demo and migrate change a database's schema. Every other
command refuses a database whose schema is older than warroom's, and never
upgrades it on its own: an upgrade cannot be undone by an older warroom, so
it is done on purpose, after a backup (sqlite3 DB '.backup COPY', or a copy
of the file while no warroom process runs). migrate never creates a
database: apply -f SPEC does.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			from := 0
			s, err := store.OpenExisting(ctx, a.dbPath)
			var se *store.SchemaOutdatedError
			switch {
			case err == nil:
				from, err = s.SchemaVersion(ctx)
				s.Close()
				if err != nil {
					return err
				}
			case errors.As(err, &se) && se.Have > 0:
				from = se.Have
			default:
				return a.openError(err)
			}
			s, err = a.openStore(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			to, err := s.SchemaVersion(ctx)
			if err != nil {
				return err
			}
			if a.json() {
				return a.writeJSON(map[string]any{"database": a.dbPath, "from": from, "to": to, "changed": from != to})
			}
			if from == to {
				fmt.Fprintf(a.stdout, "database %s is up to date (schema version %d)\n", a.dbPath, to)
				return nil
			}
			fmt.Fprintf(a.stdout, "database %s: schema version %d -> %d\n", a.dbPath, from, to)
			return nil
		},
	}
}
