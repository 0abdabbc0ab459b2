"""End devices (CPE) and spare parts in warehouses, every movement kept."""
