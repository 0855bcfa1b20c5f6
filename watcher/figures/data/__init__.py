"""Language data for the figure extractor: <lang>.yaml (metric words, hedges, sources;
format at the top of en.yaml) and numbers/<lang>.yaml (number words). Data only, no code."""
