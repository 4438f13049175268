"""What a gate run writes: report.json / .md / .html, the access grid, and the comparison with a baseline."""
