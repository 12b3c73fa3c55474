import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/**
 * The fonts the PNG is drawn with, from the `@expo-google-fonts/inter` package (Inter,
 * SIL Open Font License 1.1). resvg reads TrueType/OpenType only, and no system font is
 * assumed: a container image has none.
 */
export function chartFontFiles(): string[] {
  return [
    require.resolve('@expo-google-fonts/inter/400Regular/Inter_400Regular.ttf'),
    require.resolve('@expo-google-fonts/inter/600SemiBold/Inter_600SemiBold.ttf'),
  ];
}
