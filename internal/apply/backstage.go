package apply

// convertBackstage turns Backstage catalog-info documents into groundcrew
// documents. Filled in by backstage conversion; passes others through.
func convertBackstage(docs []Document) ([]Document, []string, error) { return docs, nil, nil }
