package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/scim-bridge/scim-bridge/mappings"
)

// catalogFlags are the flags of the offline commands that read the catalog.
type catalogFlags struct {
	customApps []string
	schemas    []string
}

func (f *catalogFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.customApps, "custom-app", nil,
		"custom application definition `file` to load with the built-in catalog (repeatable)")
}

func (f *catalogFlags) registerSchemas(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.schemas, "schema", nil,
		"directory extension schema `file` (SCIM schema JSON) the mappings may use (repeatable)")
}

func (f *catalogFlags) catalog() (*mappings.Catalog, error) {
	return mappings.LoadCatalog(f.customApps...)
}

func newAppsCmd() *cobra.Command {
	var f catalogFlags
	cmd := &cobra.Command{
		Use:   "apps [APP]",
		Short: "List the application catalog, or show one application's fields",
		Long: `List the applications the bridge can provision, with each one's mandatory fields.

Given an application name, show its fields (type, limits, mandatory, read-only),
the fields that must be mapped together, and the default mapping. Works offline.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cat, err := f.catalog()
			if err != nil {
				return err
			}
			if len(args) == 0 {
				return listApps(cmd.OutOrStdout(), cat)
			}
			app, err := cat.Lookup(args[0])
			if err != nil {
				return err
			}
			return showApp(cmd.OutOrStdout(), app)
		},
	}
	f.register(cmd)
	return cmd
}

func listApps(out io.Writer, cat *mappings.Catalog) error {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tNAME\tCONNECTOR\tMANDATORY FIELDS")
	for _, a := range cat.Apps() {
		label := a.Label
		if !a.Builtin {
			label += " (custom)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, label, a.Connector,
			strings.Join(a.Mandatory(), ", "))
	}
	return tw.Flush()
}

func showApp(out io.Writer, a *mappings.App) error {
	fmt.Fprintf(out, "%s (%s), connector %s\n", a.Label, a.Name, a.Connector)
	fmt.Fprintf(out, "identified by: %s\n", strings.Join(a.Identity, ", "))
	for _, g := range a.Dependent {
		fmt.Fprintf(out, "mapped together or not at all: %s\n", strings.Join(g, ", "))
	}
	fmt.Fprintln(out)

	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tTYPE\tFLAGS\tDEFAULT SOURCE")
	for _, f := range a.Fields {
		src := "-"
		if s, ok := a.Default.Fields[f.Name]; ok {
			src = s.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, fieldType(f), fieldFlags(f), src)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if a.Notes != "" {
		fmt.Fprintf(out, "\nnotes:\n  %s\n", strings.ReplaceAll(a.Notes, "\n", "\n  "))
	}
	return nil
}

func fieldType(f mappings.Field) string {
	t := string(f.Type)
	switch {
	case f.Type == mappings.TypeEnum:
		t += "(" + strings.Join(f.Values, "|") + ")"
	case f.MaxLength > 0:
		t += fmt.Sprintf("(%d)", f.MaxLength)
	}
	if f.MultiValued {
		t = "list of " + t
	}
	return t
}

func fieldFlags(f mappings.Field) string {
	var flags []string
	if f.Mandatory {
		flags = append(flags, "mandatory")
	}
	if f.ReadOnly {
		flags = append(flags, "read-only")
	}
	if len(flags) == 0 {
		return "-"
	}
	return strings.Join(flags, ",")
}
