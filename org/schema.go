// Package org is the organisation tree (province down to Party branches, units, enterprises,
// cooperatives and business-district alliances) and the people in it.
package org

import (
	"embed"

	"grassroots/store"
)

//go:embed schema
var schema embed.FS

// Migrations is the org package's schema. It runs after audit's and before auth's, whose
// accounts and grants refer to people and organisations.
var Migrations = store.Migrations{Package: "org", FS: schema}
