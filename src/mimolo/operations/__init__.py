"""Operations: the single authority for agent lifecycle, config, trust and evidence."""
